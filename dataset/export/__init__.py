"""The analysis export bundle: what its variables are (variables), what it holds (scope),
the rows read from the database (rows), one writer per file format, and the job that
puts them together (bundle)."""
