"""The resilience pipeline: policies (settings) and one module per strategy."""
