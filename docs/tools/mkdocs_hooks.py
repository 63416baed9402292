"""MkDocs hooks (mkdocs.yml `hooks:`; MkDocs 1.4 has no `exclude_docs` setting yet).

Keeps the documentation's tooling out of the built site: docs/tools/ (this file, the Doxygen
configuration and filter, the link checker) and the Graphviz sources of the diagrams
(docs/diagrams/*.dot; the site shows the rendered .svg files).
"""


def on_files(files, config):
    for f in list(files):
        uri = f.src_path.replace("\\", "/")
        if uri.startswith("tools/") or (uri.startswith("diagrams/") and uri.endswith(".dot")):
            files.remove(f)
    return files
