// Package identity checks the identifiers the register relies on (USCC, resident
// identity numbers, LEIs, registration numbers) and derives name search keys.
package identity
