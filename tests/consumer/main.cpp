// A first cldyn program (the example of docs/api.md, which includes this file verbatim).
// It samples a two-view batch from the latent model of theory §4, trains one-layer ReLU nodes
// by α-CL, then reads the theory's quantities at the result: the gated covariance A(w) of a
// node, its top eigenpair, and how close the trained node is to a fixed point A(w)w = λw.
// The CTest test `install_consumer` builds it against the installed package, so it compiles.
#include <cldyn/analysis/analysis.hpp>  // cldyn::analysis, and through it all of cldyn::core

#include <cmath>
#include <iostream>

int main() {
  // Data: L = 5 orthonormal patterns u_l in d = 20 dimensions (defaults of LatentModelOptions),
  // mixture latent, views x = x0 + 0.2ξ. No global RNG: every draw comes from a seeded Rng.
  const cldyn::data::LatentModel model(cldyn::data::LatentModelOptions{}, /*seed=*/1);
  cldyn::Rng rng(42);
  const cldyn::TwoViewBatch batch = model.sample(512, rng);  // X and X': 512 × 20 each

  // Network: K = 4 ReLU nodes, random unit-norm weights (the columns of W, d × K).
  cldyn::OneLayerNetwork net =
      cldyn::OneLayerNetwork::random(model.dim(), 4, cldyn::Activation::relu(), rng);

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
  const double cos_pattern = (model.patterns().transpose() * w).maxCoeff();
  std::cout << "node 0: lambda_1(A) = " << top.values(0) << ", eigengap " << top.values(0) - top.values(1)
            << " (residual " << top.residual << "), |cos(w, v_1)| = " << cos_top
            << ", best pattern cos = " << cos_pattern << "\n";

  // Numerical outcomes are statuses, never silent values: a program checks them.
  const bool ok = result.status != cldyn::Status::non_finite &&
                  top.status == cldyn::Status::success && result.final_energy > result.initial_energy;
  return ok ? 0 : 1;
}
