"""The demo company: a seeded sales organisation written as ordinary import files and loaded through the importer."""
