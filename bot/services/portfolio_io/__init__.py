"""The portfolio as a spreadsheet: import initiatives from CSV or XLSX, and export them the same way.

`columns` names the columns, `table` reads and writes the files, `rows` checks each row on its own (no database),
`importing` plans an import against the database (matching rows to initiatives, every problem at once) and applies
it; `service` gathers the rows to export and is what the rest of the bot calls. Slack's part, finding a person by
e-mail address, is handed in as a function.
"""
