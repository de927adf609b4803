// Package identifiers checks the identifiers the register relies on: a
// USCC (统一社会信用代码), a resident identity number, an LEI, the
// registry's own registration numbers, and a collateral serial number's
// search key. Names, and when two are similar, are package names'.
package identifiers
