//===- SparseKAttrs.td - sparsek attributes ----------------*- tablegen -*-===//

#ifndef SPARSEK_DIALECT_SPARSEK_IR_SPARSEKATTRS_TD
#define SPARSEK_DIALECT_SPARSEK_IR_SPARSEKATTRS_TD

include "mlir/IR/EnumAttr.td"
include "sparsek/Dialect/SparseK/IR/SparseKDialect.td"

def SparseK_GateKV : I32EnumAttrCase<"kv", 0>;
def SparseK_GateV : I32EnumAttrCase<"v", 1>;
def SparseK_GateLogit : I32EnumAttrCase<"logit", 2>;
def SparseK_GateNone : I32EnumAttrCase<"none", 3>;

def SparseK_Gate : I32EnumAttr<"Gate",
    "how the soft SPARSEK weight m_ij enters attention (section 5 of `docs/Semantics.md`)",
    [SparseK_GateKV, SparseK_GateV, SparseK_GateLogit, SparseK_GateNone]> {
  let cppNamespace = "::mlir::sparsek";
  let genSpecializedAttr = 0;
}

def SparseK_GateAttr : EnumAttr<SparseK_Dialect, SparseK_Gate, "gate"> {
  let summary = "gate mode: kv, v, logit or none";
  let description = [{
    Where the gate weight `m_ij` enters gathered attention (section 5 of `docs/Semantics.md`):

    | `gate` | logit `l_ij` | value used |
    | --- | --- | --- |
    | `kv` (default) | `s * m_ij * dot(q_i, key_j)` | `m_ij * value_j` |
    | `v` | `s * dot(q_i, key_j)` | `m_ij * value_j` |
    | `logit` | `s * dot(q_i, key_j) + log(m_ij)` | `value_j` |
    | `none` | `s * dot(q_i, key_j)` | `value_j` (hard top-k) |

    Printed `#sparsek.gate<kv>`.
  }];
  let assemblyFormat = "`<` $value `>`";
}

#endif // SPARSEK_DIALECT_SPARSEK_IR_SPARSEKATTRS_TD
