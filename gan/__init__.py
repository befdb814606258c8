"""distmatch.gan: training machinery (torch): adversarial objectives, regularizers, mode-collapse remedies,
image networks (``gan.nets``), image data (``gan.data``), image metrics (``gan.metrics``) and the image trainer
(``gan.train``)."""
from .losses import LOSSES, AdversarialLoss, get_loss
from .regularizers import TrainOptions
