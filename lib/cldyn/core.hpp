#pragma once
/// \file core.hpp
/// Umbrella header of cldyn::core: the model of contrastive learning (theory §1–§3).

#include "cldyn/activation.hpp"
#include "cldyn/batch.hpp"
#include "cldyn/convention.hpp"
#include "cldyn/covariance.hpp"
#include "cldyn/data/class_model.hpp"
#include "cldyn/data/latent_model.hpp"
#include "cldyn/loss.hpp"
#include "cldyn/one_layer.hpp"
#include "cldyn/pairwise_importance.hpp"
#include "cldyn/rng.hpp"
#include "cldyn/status.hpp"
#include "cldyn/trainer.hpp"
#include "cldyn/two_layer.hpp"
#include "cldyn/validate.hpp"
#include "cldyn/version.hpp"
