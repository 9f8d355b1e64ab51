// A first cldyn program (the example of docs/api.md, which includes this file verbatim).
// It reads two views from .npy files, trains one-layer ReLU nodes on them by α-CL, then reads
// the theory's quantities at the result: the gated covariance A(w) of a node, its top eigenpair,
// and how close the trained node is to a fixed point A(w)w = λw.
//   usage: consumer [X.npy X_prime.npy]   (N × d each, rows = samples, e.g. np.save of a view)
// Without arguments it first writes such a pair itself, x.npy and x_prime.npy, sampled from the
// latent model of theory §4. The CTest test `install_consumer` builds it against the installed
// package and runs it both ways, so it compiles and runs.
#include <cldyn/analysis/analysis.hpp>  // cldyn::analysis, and through it all of cldyn::core
#include <cldyn/tools/npy.hpp>          // cldyn::io: load_npy, save_npy

#include <cmath>
#include <exception>
#include <iostream>
#include <optional>
#include <string>

int main(int argc, char** argv) try {
  std::string x_file = "x.npy", x_prime_file = "x_prime.npy";
  std::optional<cldyn::data::LatentModel> model;  // known patterns, only for the generated data
  if (argc == 3) {
    x_file = argv[1];
    x_prime_file = argv[2];
  } else {
    // L = 5 orthonormal patterns u_l in d = 20 dimensions (defaults of LatentModelOptions),
    // mixture latent, views x = x0 + 0.2ξ; 512 samples, written as float64 .npy files.
    // No global RNG: every draw comes from a seeded Rng.
    model.emplace(cldyn::data::LatentModelOptions{}, /*seed=*/1);
    cldyn::Rng data_rng(42);
    const cldyn::TwoViewBatch sample = model->sample(512, data_rng);
    cldyn::tools::save_npy(x_file, sample.x);
    cldyn::tools::save_npy(x_prime_file, sample.x_prime);
  }
  // load_npy reads float32 or float64, rank 1 or 2; a bad file throws, naming it.
  const cldyn::TwoViewBatch batch{cldyn::tools::load_npy(x_file),
                                  cldyn::tools::load_npy(x_prime_file)};
  batch.validate();  // same shape, N >= 2, finite

  // Network: K = 4 ReLU nodes, random unit-norm weights (the columns of W, d × K).
  cldyn::Rng rng(42);
  cldyn::OneLayerNetwork net =
      cldyn::OneLayerNetwork::random(batch.dim(), 4, cldyn::Activation::relu(), rng);

  // α-CL training on the fixed batch: ascent on E_α with α frozen per step (= descent on the
  // loss, Identity A); every column of W is renormalised after each step (the default).
  const cldyn::Loss loss = cldyn::Loss::quadratic();  // uniform α; Loss::infonce(tau) for InfoNCE
  cldyn::TrainerOptions options;
  options.learning_rate = 1.0;
  options.max_steps = 500;
  const cldyn::TrainResult result = cldyn::train(net, loss, batch, options);
  std::cout << "training: " << cldyn::to_string(result.status) << " after " << result.steps
            << " steps, energy " << result.initial_energy << " -> " << result.final_energy << "\n";

  // The theory at the result: α at the trained W, A(w) = C_α[x̃_w] of node 0 (Identity B:
  // ∇_w E = A(w)w), and its top two eigenpairs with the residual that certifies them.
  const cldyn::PairwiseImportance alpha =
      loss.pairwise_importance(net.forward(batch.x), net.forward(batch.x_prime));
  const Eigen::VectorXd w = net.weights().col(0).normalized();
  const Eigen::MatrixXd a = cldyn::analysis::gated_covariance(batch, alpha, w, net.activation());
  const cldyn::analysis::EigenResult top = cldyn::analysis::top_eigenpairs(a, 2);

  // A trained node should be (close to) the top eigenvector of the matrix it induces, and for
  // ReLU on the mixture model that eigenvector lies near one pattern (Claims 2 and 5).
  const double cos_top = std::abs(top.vectors.col(0).dot(w));
  std::cout << "node 0: lambda_1(A) = " << top.values(0) << ", eigengap "
            << top.values(0) - top.values(1) << " (residual " << top.residual
            << "), |cos(w, v_1)| = " << cos_top;
  if (model) std::cout << ", best pattern cos = " << (model->patterns().transpose() * w).maxCoeff();
  std::cout << "\n";

  // Numerical outcomes are statuses, never silent values: a program checks them.
  const bool ok = result.status != cldyn::Status::non_finite &&
                  top.status == cldyn::Status::success && result.final_energy > result.initial_energy;
  return ok ? 0 : 1;
} catch (const std::exception& e) {  // a file that cannot be read, or data of the wrong shape
  std::cerr << "consumer: " << e.what() << "\n";
  return 1;
}
