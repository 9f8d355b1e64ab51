// The main of every check executable: the one check registered in it (CLDYN_REGISTER_CHECK in
// experiments/check_<name>.cpp), writing to stdout and stderr.
#include <cstdio>

#include "common/shape.hpp"

int main(int argc, char** argv) {
  const auto& registry = cldyn::experiments::check_registry();
  if (registry.size() != 1) {
    std::fprintf(stderr, "internal error: %zu checks registered in one check executable (expected 1)\n",
                 registry.size());
    return 2;
  }
  return registry.front().run(argc, argv, cldyn::experiments::CheckStreams{});
}
