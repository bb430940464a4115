"""Test support: throwaway servers, fault proxy, HTTP helpers, Lambda emulator harness."""
