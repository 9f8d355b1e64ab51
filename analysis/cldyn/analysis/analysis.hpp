#pragma once
/// \file analysis.hpp
/// Umbrella header of cldyn::analysis: what the theory predicts.

#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/analysis/colinearity.hpp"
#include "cldyn/analysis/finite_difference.hpp"
#include "cldyn/analysis/fixed_points.hpp"
#include "cldyn/analysis/landscape.hpp"
#include "cldyn/analysis/stability.hpp"
#include "cldyn/analysis/statistics.hpp"
#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/global_modulation.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/analysis/matching.hpp"
#include "cldyn/analysis/one_layer_analysis.hpp"
#include "cldyn/analysis/population.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "cldyn/core.hpp"
