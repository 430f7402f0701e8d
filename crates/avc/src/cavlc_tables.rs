//! CAVLC code tables (Tables 9-5, 9-7, 9-8, 9-9, 9-10).
