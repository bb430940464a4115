"""The secrets port: credentials read at runtime, from Secrets Manager or the environment."""
