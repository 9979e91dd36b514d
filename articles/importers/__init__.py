"""Importers: each module reads one kind of export into `ParsedDocument`s (no database).

`document` reads one front-matter/Markdown file or scraped page, `frontmatter` the
headers found in the wild (YAML with custom tags, TOML), `wxr`, `ghost`, `medium` and
`substack` the platforms' exports, `archive` opens zips safely. Writing is
`articles.services`."""

# The formats an import can be asked for; here, so that the admin's form names them
# without loading the readers (and their parsing libraries) into every process.
FORMATS = ("auto", "markdown", "wxr", "ghost", "medium", "substack")
