"""Contract suites: one per port, each test run against every driver of that port."""
