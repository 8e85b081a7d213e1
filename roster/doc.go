// Package roster reads and validates the roster files the city office imports:
// the enterprise list and the list of officials.
//
// A roster is a CSV file (UTF-8 with or without BOM, GBK/GB18030 as Excel saves it
// on a Chinese Windows, or UTF-16 "Unicode text") or an XLSX workbook (first sheet).
// Headers may be the English names used in the fixtures or the Chinese ones an
// office types, in any order. Every row is validated before anything is written:
// the package never touches the store; it returns the good rows, one RowError per
// fault (with the line number a user sees in Excel) and warnings. Applying the
// result is the caller's job.
package roster
