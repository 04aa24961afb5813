// Result numbers below the input's size parse as usual; the scan skips
// comments and strings: %a#99999999999999999999
%a:2 = "test.x"() : () -> (tensor<2xf32>, tensor<2xf32>)
"test.y"(%a#1) {note = "%a#99999999999999999999"} : (tensor<2xf32>) -> ()
