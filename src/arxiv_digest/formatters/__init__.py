"""Pure rendering functions: Digest/Paper -> text for each platform. No I/O, no clock."""
