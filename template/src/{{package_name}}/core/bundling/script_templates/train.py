# Written by `train --stage` from core/bundling/script_templates/train.py (see core/bundling/scripts.py).
"""Training job entry point of model '__MODEL__': edit __PACKAGE__.models.__MODEL__.train."""

from __PACKAGE__.models.__MODEL__.train import main

if __name__ == "__main__":
    main()
