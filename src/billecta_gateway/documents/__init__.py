"""Generated files (reports, saved invoice PDFs) stored in PostgreSQL and downloaded by id."""
