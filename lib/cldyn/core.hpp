#pragma once
/// \file core.hpp
/// Umbrella header of cldyn::core: the model of contrastive learning (theory §1–§3).

#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/covariance.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/core/status.hpp"
#include "cldyn/core/validate.hpp"
#include "cldyn/data/class_model.hpp"
#include "cldyn/data/latent_model.hpp"
#include "cldyn/models/convention.hpp"
#include "cldyn/models/one_layer.hpp"
#include "cldyn/models/two_layer.hpp"
#include "cldyn/train/trainer.hpp"
#include "cldyn/version.hpp"
