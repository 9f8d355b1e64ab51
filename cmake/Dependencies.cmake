# Every dependency is a Debian package installed by scripts/setup; nothing is vendored.
find_package(Eigen3 3.4 REQUIRED NO_MODULE)       # all linear algebra
find_package(spectra 1.0 REQUIRED CONFIG)         # matrix-free top-k eigenpairs
find_package(Boost 1.74 REQUIRED)                 # Boost.Math (header-only)
find_package(OpenMP REQUIRED COMPONENTS CXX)      # parallel sweeps
