"""The presets webgan trains with its `dcgan` recipe (the DCGAN, SAGAN and InfoGAN networks):
the image side each makes, its recipe defaults, and its networks."""

from .dcgan import PRESETS as DCGAN_PRESETS
from .dcgan import dcgan_networks
from .infogan import PRESETS as INFOGAN_PRESETS
from .infogan import codes_of, infogan_networks
from .sagan import PRESETS as SAGAN_PRESETS
from .sagan import sagan_networks

# Preset name → image side.
PRESETS = {**DCGAN_PRESETS, **SAGAN_PRESETS, **INFOGAN_PRESETS}

# What `webgan train` takes for a SAGAN preset unless a flag says otherwise (SAGAN's hinge loss,
# two time-scale Adam, and z of 128, as the port draws it); the batch is 64, but 32 for
# sagan64, whose 32×32 attention map is 4 MiB an image.
SAGAN_DEFAULTS = {"loss": "hinge", "lr_d": 4e-4, "lr_g": 1e-4, "beta1": 0.0, "beta2": 0.9,
                  "nz": 128}

# InfoGAN's, as its reference (openai/InfoGAN) trains MNIST: noise of 62 uniform in (−1, 1),
# Adam with β1 0.5 and lr 2e-4 for D, 1e-3 for G, batch 128; one categorical code of 10 values,
# 2 continuous codes, the mutual-information term's weight λ 1.
INFOGAN_DEFAULTS = {"nz": 62, "prior": "uniform", "lr_g": 1e-3, "batch": 128}
CODES_DEFAULTS = {"categorical": 10, "continuous": 2, "info_reg_coeff": 1.0}


def is_sagan(preset):
    return preset in SAGAN_PRESETS


def is_infogan(preset):
    return preset in INFOGAN_PRESETS


def codes(config):
    """(categorical values, continuous codes) of InfoGAN's latent; (0, 0) for the other
    presets."""
    return codes_of(config) if is_infogan(config["preset"]) else (0, 0)


def penalty(config):
    """The penalty on D's input gradient each D step, as webgan's `TrainConfig::penalty` reads
    the configuration: ("gp", λ) for WGAN-GP, ("r1", γ) for R1, or None."""
    if config.get("loss") == "wgan-gp":
        return "gp", float(config.get("lambda_gp", 10.0))
    if config.get("r1") is not None:
        # Lazy R1 (webgan's --r1-every N): each penalised update stands for N of them.
        return "r1", float(config["r1"]) * r1_every(config)
    return None


def r1_every(config):
    """Lazy R1's N: the penalty in every N-th D update of the run (counted from its first, across
    steps, as webgan counts them), at N times its weight; 1 for every update."""
    every = int(config.get("r1_every", 1))
    if not 1 <= every <= 1000:
        raise ValueError(f"r1_every must be from 1 to 1000, not {every}")
    return every


def recipe_defaults(preset):
    """The flags whose default the preset changes from DCGAN's, with the preset's values."""
    if is_infogan(preset):
        return INFOGAN_DEFAULTS
    if not is_sagan(preset):
        return {}
    return {**SAGAN_DEFAULTS, "batch": 32 if preset == "sagan64" else 64}


def gan_networks(config):
    """netG and netD (and netG_ema where the run keeps one) of a run of webgan's `dcgan`
    recipe, whichever preset's networks it trains."""
    if is_infogan(config["preset"]):
        if penalty(config) is not None:
            # As webgan: the critic shares its body with Q, which its penalty pass cannot take.
            raise ValueError("InfoGAN cannot take a gradient penalty (wgan-gp, r1): its critic "
                             "shares its body with Q; train it with --loss bce (its default)")
        return infogan_networks(config)
    if is_sagan(config["preset"]):
        if penalty(config) is not None:
            # webgan's penalty pass is built for critics of convolutions, dense layers, (leaky)
            # ReLUs and reshapes, so it refuses SAGAN's D: a run here could not go on there.
            raise ValueError(f"the gradient penalties (wgan-gp, r1) take the DCGAN presets, not "
                             f"{config['preset']}, whose critic's self-attention webgan cannot "
                             f"penalise")
        return sagan_networks(config)
    if config["preset"] not in DCGAN_PRESETS:
        raise ValueError(f"unknown preset '{config['preset']}': choose {', '.join(PRESETS)}")
    return dcgan_networks(config, penalised=penalty(config) is not None)
