"""Reasoning modules from the literature, one torch file each: Delethink chunked thinking (`delethink`),
Tiny Recursive Models (`trm`, trained on `sudoku` and `mazes`) and Artificial Hippocampus Networks (`ahn`).

Each is measured by a study behind `agora reasoning`: `trm_study`, `ahn_study`, `delethink_study` (settings in
`settings`, saving in `study`)."""
