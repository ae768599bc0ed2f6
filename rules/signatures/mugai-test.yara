// mugai test rule: proves that YARA rules load through cl_load(). It matches a harmless ASCII
// marker, MUGAI_YARA_TEST_MARKER with each underscore written as a hyphen. The pattern is
// spelt in hex so that this file never matches itself.
rule Mugai_Test_Yara_Marker
{
    strings:
        $marker = { 4D 55 47 41 49 2D 59 41 52 41 2D 54 45 53 54 2D 4D 41 52 4B 45 52 }
    condition:
        $marker
}
