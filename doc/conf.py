# Sphinx configuration for the swiftsync operator guide.
import os
import sys

sys.path.insert(0, os.path.abspath('..'))

project = 'swiftsync'
author = 'swiftsync authors'
copyright = '2026, swiftsync authors'
extensions = ['sphinx.ext.autodoc', 'myst_parser']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
autodoc_mock_imports = []
