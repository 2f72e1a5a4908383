"""Where results go: records, the table, bodies on stdout, saved files, the stderr side."""
