// Package outbound decides which addresses the registry itself may call
// (the webhooks organizations name), and gives the HTTP client that calls
// them, so that no webhook can make the registry reach into its own
// network. The HTTP front end (httpx) and the jobs that deliver notices
// both ask it; it knows neither.
package outbound
