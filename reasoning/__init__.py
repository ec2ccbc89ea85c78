"""Reasoning modules from the literature, one torch file each: Delethink chunked thinking (`delethink`),
Tiny Recursive Models (`trm`, trained on `sudoku` and `mazes`) and Artificial Hippocampus Networks (`ahn`)."""
