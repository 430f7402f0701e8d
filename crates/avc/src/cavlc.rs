//! Residual syntax with CAVLC (7.3.5.3.2, 9.2). Written by the cavlc task.
