package main

import (
	"fmt"
	"strconv"
	"strings"
)

// codeInfo is what the simulator prints for an AZCM code: the Title Case name of
// the console line `AZCMnnnn: Title`, a default detail message in the current
// agent's words, and the message-only text an old (pre-2021) agent printed.
type codeInfo struct {
	title  string
	detail string
	old    string
}

// codeTable holds the codes from the seed (2021 troubleshooting table) and the
// newer ones in the agent's public documentation. Titles are the simulator's wording.
var codeTable = map[int]codeInfo{
	0:   {"Success", "", ""},
	1:   {"Unknown Error", "an unknown error occurred", "unknown error"},
	2:   {"Internal Agent Error", "an internal agent error occurred", "internal error"},
	3:   {"Operation Not Supported", "this operation is not supported on this operating system or agent version", "operation not supported"},
	4:   {"Proxy Service Not Running", "the Arc proxy service is not running", "arcproxy not running"},
	5:   {"Failed To Create File Logger", "cannot create the file logger: check the log directory, disk space and permissions", "cannot open log file"},
	6:   {"Agent Initialization Failed", "agent initialization failed", "agent initialization failed"},
	11:  {"Operation Cancelled", "the operation was cancelled (interrupted or terminated)", "interrupted"},
	12:  {"Invalid Access Token", "the access token provided is invalid", "Failed to get authorization token: invalid access token"},
	13:  {"Invalid Tags", "the tags provided are invalid", "invalid tags"},
	14:  {"Invalid Cloud", "the cloud provided is invalid", "invalid cloud"},
	15:  {"Invalid Correlation ID", "the correlation ID is not a valid GUID", "invalid correlation id"},
	16:  {"Missing Required Parameter", "a required parameter is missing", "required parameter missing"},
	17:  {"Invalid Resource Name", "the resource name is invalid", "invalid resource name"},
	18:  {"Insufficient Privileges", "this command must be run as root (Linux) or Administrator (Windows)", "permission denied: run as root"},
	19:  {"Config File Not Found", "the --config file was not found", "config file not found"},
	20:  {"Unknown Region", "the location is not a known Azure region", "unknown location"},
	23:  {"Invalid Argument Value", "an argument value is invalid", "invalid argument"},
	26:  {"Network Error", "Post https://login.microsoftonline.com/common/oauth2/token: dial tcp 20.190.160.1:443: connect: network is unreachable", "dial tcp 20.190.160.1:443: connect: network is unreachable"},
	27:  {"Configuration Conflict", "the agent configuration has conflicting settings", "configuration conflict"},
	28:  {"Unable To Open TPM", "cannot open the TPM", "cannot open TPM"},
	41:  {"Invalid Credentials", "Failed to get authorization token from SPN: AADSTS7000215: Invalid client secret is provided.", "Invalid client secret is provided"},
	42:  {"Failed To Create Resource", "The client does not have authorization to perform action 'Microsoft.HybridCompute/machines/write' over the scope or the subscription is not registered to use namespace 'Microsoft.HybridCompute'", "Failed to AzcmagentConnect ARM resource: Code: MissingSubscriptionRegistration httpStatusCode:409"},
	43:  {"Failed To Delete Resource", "The client does not have authorization to perform action 'Microsoft.HybridCompute/machines/delete'", "Failed to delete ARM resource"},
	44:  {"Resource Name Already Exists", "a resource with the same name already exists in the resource group", "Failed to AzcmagentConnect ARM resource: resource already exists"},
	45:  {"Failed To Update Public Key", "failed to update the service with the new public key", "failed to update public key"},
	61:  {"Agent Service Unreachable", "cannot reach the agent service (himds): is it running?", "dial tcp 127.0.0.1:40342: connect: connection refused"},
	62:  {"Connect Failed", "an error occurred while connecting the machine: the Azure resource was created, delete it before retrying", "Failed to connect machine"},
	63:  {"Disconnect Failed", "an error occurred while disconnecting the machine", "Failed to disconnect machine"},
	64:  {"Agent Service Not Responding", "the agent service (himds) is not responding", "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
	65:  {"Internal Agent Communication Error", "an internal agent communication error occurred", "internal communication error"},
	66:  {"Agent Web Service Not Responding", "the agent web service is not responding or unavailable", "web service not responding"},
	67:  {"Machine Already Connected", "the machine is already connected to Azure: disconnect first", "Machine is already connected"},
	68:  {"Subscription Name Could Not Be Resolved", "the subscription name could not be resolved: use the subscription GUID", "subscription not found"},
	69:  {"Local Configuration Update Failed", "updating the local configuration failed", "local config update failed"},
	70:  {"Unable To Obtain Local Config", "unable to obtain the local agent configuration: the machine is not connected", "Failed to get local config"},
	75:  {"Unable To Get Cloud Configuration", "cannot get the cloud configuration", "cloud config unavailable"},
	81:  {"Failed To Download Managed Identity Certificate", "an error occurred while downloading the managed identity certificate: delete the resource and connect again", "Failed to download certificate"},
	82:  {"TPM Managed Identity Certificate Failed", "managed identity certificate via TPM failed", "tpm certificate failed"},
	83:  {"Failed To Register Persistent Credential", "failed to register the persistent credential", "failed to register credential"},
	101: {"Command Parse Error", "the command could not be parsed: run `azcmagent <command> --help`", "unknown command or flag"},
	102: {"Unable To Get Hostname", "unable to get the machine's hostname: pass --resource-name", "hostname unavailable"},
	103: {"RSA Key Generation Failed", "an error occurred while generating RSA keys", "rsa key generation failed"},
	104: {"Failed To Read System Information", "cannot read system information: run as root/Administrator", "cannot read system information"},
	105: {"Failed To Get Signed Message", "failed to get a signed message or to download the certificate", "certificate download failed"},
	106: {"Failed To Save Parameters File", "failed to save the parameters file", "failed to save parameters"},
	107: {"Failed To Retrieve Certificate", "failed to retrieve the certificate for thumbprint authentication", "certificate not found"},
	108: {"Failed To Process TPM Keys", "failed to process TPM keys", "tpm key error"},
}

// codeName formats an AZCM number as "AZCM0041".
func codeName(n int) string { return fmt.Sprintf("AZCM%04d", n) }

// info returns the table entry for n, with a generic entry for codes the table lacks
// (a scenario may inject any code 1-255).
func info(n int) codeInfo {
	if ci, ok := codeTable[n]; ok {
		return ci
	}
	return codeInfo{"Agent Error", "the agent reported error " + codeName(n), "agent error " + strconv.Itoa(n)}
}

// parseCode accepts "AZCM0041", "azcm41", "41" and returns 41. Exit codes are one
// byte, so only 0-255 can be represented faithfully.
func parseCode(s string) (int, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 4 && strings.EqualFold(t[:4], "AZCM") {
		t = t[4:]
	}
	n, err := strconv.Atoi(t)
	if err != nil || t == "" || t[0] == '+' || t[0] == '-' {
		return 0, fmt.Errorf("%q is not an AZCM code (want AZCMnnnn, e.g. AZCM0041)", s)
	}
	if n < 0 || n > 255 {
		return 0, fmt.Errorf("%q is outside 0-255: the exit code could not carry it", s)
	}
	return n, nil
}
