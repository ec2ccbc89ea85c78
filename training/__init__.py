"""Fine-tuning on audience wins: RFT and TFB datasets from contest runs, TRL training, rounds, head-to-head evaluation."""
