package client_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/movable-registry/registry/client"
)

// A bank's day with the typed client: sign in, file, amend under If-Match,
// search and read every page, check a certificate, cancel. TestABanksDay
// runs bankDay against a registry on loopback.
func Example() {
	ctx := context.Background()
	if err := bankDay(ctx, os.Stdout, "https://registry.example", "clerk@bank.example", "the clerk's password", "SN-2026-0001"); err != nil {
		log.Fatal(err)
	}
}

// bankDay is the example's day, returned as an error so that a test can run
// it. Every value is typed: the enums are constants, the answers are fields.
func bankDay(ctx context.Context, out io.Writer, registryURL, email, password, serial string) error {
	// Sign in: POST /tokens takes the clerk's email and password and needs
	// no token itself.
	anon, err := client.New(registryURL, "")
	if err != nil {
		return err
	}
	signIn, err := anon.CreateTokenWithResponse(ctx, client.TokenRequest{Email: &email, Password: &password})
	if err != nil {
		return err
	}
	if signIn.JSON201 == nil || signIn.JSON201.Token == "" {
		return client.Unexpected("sign in", signIn.HTTPResponse, signIn.Body)
	}
	c, err := client.New(registryURL, signIn.JSON201.Token)
	if err != nil {
		return err
	}

	// File a chattel mortgage over one machine. The Idempotency-Key makes a
	// retry after a lost answer safe: the registry answers it as the first.
	key := "bank-loan-2026-0042"
	filed, err := c.FileRegistrationWithResponse(ctx, &client.FileRegistrationParams{IdempotencyKey: &key}, client.Filing{
		Kind:         client.KindChattelMortgage,
		PeriodMonths: 36,
		// Each party's address, and a mainland organization's legal
		// representative, as the 2021 Measures ask of a new filing.
		Grantors: []client.Party{{
			Type: client.PartyTypeOrganization, Name: "上海星辰精密机械有限公司", Uscc: ptr("91310115MA1K3YJ12G"),
			Address: ptr("上海市浦东新区张江路88号"), LegalRepresentative: ptr("王建国"),
		}},
		SecuredParties: []client.Party{{Type: client.PartyTypeOrganization, Name: "示例银行上海分行", Uscc: ptr("91310000132209458L"),
			Address: ptr("上海市黄浦区中山东一路24号"), LegalRepresentative: ptr("李明")}},
		// The bank agreed the content with the grantor before filing.
		AgreedWithGrantor: true,
		Collateral: client.Collateral{
			Description: "一台数控机床",
			Items:       &[]client.Item{{Type: client.ItemTypeEquipment, SerialNumber: serial}},
		},
	})
	if err != nil {
		return err
	}
	if filed.JSON201 == nil {
		// A refusal is a problem with a typed code and the fields at fault.
		if p := filed.ApplicationproblemJSON422; p != nil && p.Errors != nil {
			for _, e := range *p.Errors {
				fmt.Fprintln(out, p.Code, e.Field, e.Message)
			}
		}
		return client.Unexpected("file", filed.HTTPResponse, filed.Body)
	}
	number := filed.JSON201.Number
	fmt.Fprintln(out, "filed", number, filed.JSON201.Status == client.RegistrationStatusEffective)

	// Amend it, on the condition that nobody changed it since we read it:
	// the ETag of the answer is its version, sent back as If-Match.
	etag := filed.HTTPResponse.Header.Get("ETag")
	amended, err := c.AmendRegistrationWithResponse(ctx, number, &client.AmendRegistrationParams{IfMatch: &etag}, client.Amendment{
		AddItems: &[]client.Item{{Type: client.ItemTypeVehicle, SerialNumber: serial + "-V"}},
	})
	if err != nil {
		return err
	}
	if amended.JSON201 == nil {
		// 412: someone else amended it first; read it again and decide.
		return client.Unexpected("amend", amended.HTTPResponse, amended.Body)
	}

	// Search by serial number, and read every page of the results.
	found, err := c.SearchWithResponse(ctx, nil, client.SearchRequest{Criteria: client.Criteria{SerialNumber: &serial}})
	if err != nil {
		return err
	}
	if found.JSON201 == nil {
		return client.Unexpected("search", found.HTTPResponse, found.Body)
	}
	results := found.JSON201.Results
	for cursor := found.JSON201.NextCursor; cursor != nil; {
		page, err := c.GetSearchResultsWithResponse(ctx, found.JSON201.Number, &client.GetSearchResultsParams{Cursor: cursor})
		if err != nil {
			return err
		}
		if page.JSON200 == nil {
			return client.Unexpected("results", page.HTTPResponse, page.Body)
		}
		results = append(results, page.JSON200.Results...)
		cursor = page.JSON200.NextCursor
	}
	fmt.Fprintln(out, "search", found.JSON201.Number, "found", len(results))

	// Anyone can check a certificate's number: a lender shown one.
	cert, err := anon.GetCertificateWithResponse(ctx, number)
	if err != nil {
		return err
	}
	if cert.JSON200 == nil {
		return client.Unexpected("certificate", cert.HTTPResponse, cert.Body)
	}
	fmt.Fprintln(out, "certificate", cert.JSON200.Number, cert.JSON200.Kind, *cert.JSON200.Status == client.CertificateStatusEffective)

	// The loan is repaid: cancel, under the amendment's version.
	etag = amended.HTTPResponse.Header.Get("ETag")
	cancelled, err := c.CancelRegistrationWithResponse(ctx, number, &client.CancelRegistrationParams{IfMatch: &etag}, client.Cancellation{
		Reason: client.CancellationReasonDebtRepaid,
	})
	if err != nil {
		return err
	}
	if cancelled.JSON201 == nil {
		return client.Unexpected("cancel", cancelled.HTTPResponse, cancelled.Body)
	}
	fmt.Fprintln(out, "cancelled", cancelled.JSON201.Status == client.RegistrationStatusCancelled)
	return nil
}

func ptr[T any](v T) *T { return &v }
