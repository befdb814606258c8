"""distmatch.gan: training machinery (torch): adversarial objectives, regularizers, mode-collapse remedies."""
from .losses import LOSSES, AdversarialLoss, get_loss
from .regularizers import TrainOptions
