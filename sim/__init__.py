"""The base layer: scenarios, backends, the embedded tiny model, audiences, the Mesa contest model, the run store and the `agora` CLI."""
