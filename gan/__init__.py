"""distmatch.gan: training machinery (torch): adversarial objectives, regularizers, image nets, data, metrics."""
from .losses import LOSSES, AdversarialLoss, get_loss
