"""Where URLs come from: SOURCE arguments, files and stdin, read lazily and filtered."""
