"""The automatic kernel widths of this process in one line (``bpfast bench``, bench/)."""

from __future__ import annotations


def kernel_summary(choice: dict) -> str:
    """'kernels: radial and Gaussian angular 8 lanes, compact angular 4 lanes, neighbour
    scan 8 lanes' from ``_core.kernel_choice()``."""
    return (f"kernels: radial and Gaussian angular {choice['width']} lanes, compact angular "
            f"{choice['compact_width']} lanes, neighbour scan {choice['scan_width']} lanes")
