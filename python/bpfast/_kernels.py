"""The automatic kernel widths of this process in one line (``bpfast bench``, bench/)."""

from __future__ import annotations


def kernel_summary(choice: dict) -> str:
    """'kernels: angular 8 lanes, neighbour scan 8 lanes' from ``_core.kernel_choice()``."""
    return (f"kernels: angular {choice['width']} lanes, neighbour scan {choice['scan_width']} "
            f"lanes")
