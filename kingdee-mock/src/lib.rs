//! Kingdee mock.
