"""Layer 3 — files as users send them: decoding, CSV and workbook reading, the data contract, parsing, validation, identifiers, personal data, safe CSV output."""
