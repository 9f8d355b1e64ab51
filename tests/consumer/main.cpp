// The minimal example of the README: train ReLU nodes with InfoNCE on a latent-model batch,
// then read the theory's quantities at the result. Built against the installed package by the
// CTest test `install_consumer`, so it always compiles.
#include <cldyn/analysis/analysis.hpp>
#include <iostream>

int main() {
  cldyn::data::LatentModelOptions options;  // d = 20, L = 5, σ = 0.2, mixture
  const cldyn::data::LatentModel model(options, /*seed=*/1);
  cldyn::Rng rng(42);
  const cldyn::TwoViewBatch batch = model.sample(256, rng);

  cldyn::OneLayerNetwork net =
      cldyn::OneLayerNetwork::random(model.dim(), 4, cldyn::Activation::relu(), rng);
  cldyn::TrainerOptions train_options;
  train_options.learning_rate = 50.0;  // InfoNCE α rows sum to ≤ 1: a larger step than quadratic
  train_options.max_steps = 200;
  const cldyn::TrainResult result =
      cldyn::train(net, cldyn::Loss::infonce(0.5), batch, train_options);

  const cldyn::analysis::SampleLandscape landscape(batch, cldyn::Activation::relu(),
                                                   cldyn::Loss::quadratic());
  const Eigen::MatrixXd a = landscape.gated_covariance(net.weights().col(0));
  const cldyn::analysis::EigenResult top = cldyn::analysis::top_eigenpairs(a, 2);

  std::cout << "status " << cldyn::to_string(result.status) << ", energy "
            << result.initial_energy << " -> " << result.final_energy << ", lambda_1(A(w_0)) "
            << top.values(0) << " (residual " << top.residual << ")\n";
  const bool ok = result.status != cldyn::Status::non_finite && top.status == cldyn::Status::success &&
                  result.final_energy > result.initial_energy;
  return ok ? 0 : 1;
}
