"""Train the in-repo MNIST classifier and write its package assets: ``python -m gan.metrics.train_mnist``.

Writes ``gan/metrics/assets/mnist_classifier.pt`` (float32 state dict, ~400 KiB) and
``gan/metrics/assets/mnist_classifier.json`` (held-out accuracy, protocol, SHA-256 of the weights
and of the held-out indices); the protocol is in :mod:`gan.metrics.mnist_net`. Exits with status 1
when the held-out accuracy is below 97 %. Commit both files together.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .mnist_net import ASSET_DIR, save_assets, train_classifier

MIN_ACCURACY = 0.97


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, train, write the assets, report; 0 on success, 1 below :data:`MIN_ACCURACY`."""
    parser = argparse.ArgumentParser(prog="python -m gan.metrics.train_mnist", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: as fast as 2 for this small network, much faster on a "
                             "loaded machine, and the float results do not depend on the core count)")
    parser.add_argument("--out", type=Path, default=ASSET_DIR, help="output directory (default: the package assets)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, report = train_classifier(epochs=args.epochs, seed=args.seed, verbose=not args.quiet)
    weights, report_path = save_assets(net, report, args.out)
    print(f"held-out accuracy {report['heldout_accuracy']:.4f} ({report['heldout_correct']}/{report['n_heldout']}), "
          f"trained in {report['train_seconds']} s with {report['threads']} torch thread(s); wrote {weights} "
          f"({weights.stat().st_size / 1024:.0f} KiB) and {report_path}")
    return 0 if report["heldout_accuracy"] >= MIN_ACCURACY else 1


if __name__ == "__main__":
    raise SystemExit(main())
