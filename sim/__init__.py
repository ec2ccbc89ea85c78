"""The base layer: scenarios, backends (the embedded SmolLM2 default, hf, vllm, openai; the slot-grammar control), audiences, the Mesa contest model, the run store and the `agora` CLI."""
