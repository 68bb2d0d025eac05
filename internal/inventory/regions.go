package inventory

import "sort"

// Azure region names (the `name` column of `az account list-locations`), by cloud.
// The agent rejects a location it does not know with AZCM0020. Newer regions are
// listed generously: a missing region would block a valid fleet, while an extra
// one only lets a typo through to the agent, which still reports it.
//
// A function, not a package-level map, so nothing shared can be mutated.
func regionsByCloud() map[string][]string {
	return map[string][]string{
		"AzureCloud": {
			// Americas
			"brazilsouth", "brazilsoutheast", "brazilus", "canadacentral", "canadaeast",
			"centralus", "centraluseuap", "chilecentral", "eastus", "eastus2", "eastus2euap",
			"mexicocentral", "northcentralus", "southcentralus", "westcentralus",
			"westus", "westus2", "westus3",
			// Europe
			"austriaeast", "belgiumcentral", "denmarkeast", "francecentral", "francesouth",
			"germanynorth", "germanywestcentral", "italynorth", "northeurope", "norwayeast",
			"norwaywest", "polandcentral", "spaincentral", "swedencentral", "swedensouth",
			"switzerlandnorth", "switzerlandwest", "uksouth", "ukwest", "westeurope",
			// Middle East and Africa
			"israelcentral", "qatarcentral", "southafricanorth", "southafricawest",
			"uaecentral", "uaenorth",
			// Asia Pacific
			"australiacentral", "australiacentral2", "australiaeast", "australiasoutheast",
			"centralindia", "eastasia", "indonesiacentral", "japaneast", "japanwest",
			"jioindiacentral", "jioindiawest", "koreacentral", "koreasouth", "malaysiawest",
			"newzealandnorth", "southeastasia", "southindia", "taiwannorth", "taiwannorthwest",
			"westindia",
		},
		"AzureUSGovernment": {
			"usdodcentral", "usdodeast", "usgovarizona", "usgoviowa", "usgovtexas", "usgovvirginia",
		},
		"AzureChinaCloud": {
			"chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3",
		},
	}
}

// Clouds returns the clouds the agent's --cloud accepts (AZCM0014 otherwise).
func Clouds() []string { return []string{"AzureCloud", "AzureUSGovernment", "AzureChinaCloud"} }

// regionCloud maps a region name to its cloud; built once per call site that needs it.
func regionCloud() map[string]string {
	m := make(map[string]string, 80)
	for c, rs := range regionsByCloud() {
		for _, r := range rs {
			m[r] = c
		}
	}
	return m
}

// Regions returns the known region names of a cloud ("" = AzureCloud), sorted.
func Regions(cloud string) []string {
	if cloud == "" {
		cloud = "AzureCloud"
	}
	out := regionsByCloud()[cloud]
	sort.Strings(out)
	return out
}
