"""Real prose for the cpu profile, from Debian packages: Jane Austen's novels (r-cran-janeaustenr)
and Reuters-21578 news articles (r-cran-tm), split into documents and chunks with provenance."""
