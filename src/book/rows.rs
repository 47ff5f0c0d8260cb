//! Rows of a struct → typed table columns. A chapter declares a row as a
//! `#[derive(Serialize)]` struct (its fields are the columns, in order) and
//! `Table::from_rows` turns a slice of them into a data frame. This small
//! serializer records each field's name and scalar value; anything that is
//! not a scalar (a nested struct, a sequence) is an error naming the field.

use anyhow::{Result, bail};
use polars::prelude::Column;
use serde::Serialize;
use serde::ser::{self, Impossible};

/// One scalar of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Str(String),
}

/// A row's fields, in declaration order.
pub fn row_cells<R: Serialize>(row: &R) -> Result<Vec<(&'static str, Cell)>> {
    let mut fields = Vec::new();
    row.serialize(RowSerializer {
        fields: &mut fields,
    })
    .map_err(|e| anyhow::anyhow!("a table row: {e}"))?;
    Ok(fields)
}

/// The columns of `rows`: one per field, typed by its values (all integers
/// of one sign: integers; any float: floats; `None` → null).
pub fn columns<R: Serialize>(rows: &[R]) -> Result<Vec<Column>> {
    let mut names: Vec<&'static str> = Vec::new();
    let mut cells: Vec<Vec<Cell>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let fields = row_cells(row)?;
        if i == 0 {
            names = fields.iter().map(|(n, _)| *n).collect();
            cells = vec![Vec::with_capacity(rows.len()); names.len()];
        }
        if fields.len() != names.len() {
            bail!("table rows differ in their fields");
        }
        for (j, (name, cell)) in fields.into_iter().enumerate() {
            debug_assert_eq!(name, names[j]);
            cells[j].push(cell);
        }
    }
    names
        .into_iter()
        .zip(cells)
        .map(|(name, col)| column(name, col))
        .collect()
}

/// A column of the cells' type, nullable only if some cell is null (so a
/// column without nulls has the type a plain `Vec<T>` gives it).
macro_rules! optional {
    ($name:expr, $v:expr, $nulls:expr) => {
        if $nulls {
            Column::new($name, $v)
        } else {
            Column::new($name, $v.into_iter().flatten().collect::<Vec<_>>())
        }
    };
}

fn column(name: &str, cells: Vec<Cell>) -> Result<Column> {
    let has = |f: fn(&Cell) -> bool| cells.iter().any(f);
    let nulls = has(|c| matches!(c, Cell::Null));
    let name = name.into();
    let col = if has(|c| matches!(c, Cell::Str(_))) {
        let v: Vec<Option<String>> = cells
            .into_iter()
            .map(|c| match c {
                Cell::Str(s) => Ok(Some(s)),
                Cell::Null => Ok(None),
                other => bail!("column `{name}` mixes text and {other:?}"),
            })
            .collect::<Result<_>>()?;
        if nulls {
            Column::new(name, v)
        } else {
            Column::new(name, v.into_iter().flatten().collect::<Vec<_>>())
        }
    } else if has(|c| matches!(c, Cell::Bool(_))) {
        let v: Vec<Option<bool>> = cells
            .into_iter()
            .map(|c| match c {
                Cell::Bool(b) => Ok(Some(b)),
                Cell::Null => Ok(None),
                other => bail!("column `{name}` mixes booleans and {other:?}"),
            })
            .collect::<Result<_>>()?;
        Column::new(name, v)
    } else if has(|c| matches!(c, Cell::F64(_) | Cell::F32(_))) {
        let only_f32 = !has(|c| matches!(c, Cell::F64(_) | Cell::I64(_) | Cell::U64(_)));
        if only_f32 {
            let v: Vec<Option<f32>> = cells
                .into_iter()
                .map(|c| match c {
                    Cell::F32(x) => Some(x),
                    _ => None,
                })
                .collect();
            optional!(name, v, nulls)
        } else {
            let v: Vec<Option<f64>> = cells
                .into_iter()
                .map(|c| match c {
                    Cell::F64(x) => Some(x),
                    Cell::F32(x) => Some(x as f64),
                    Cell::I64(x) => Some(x as f64),
                    Cell::U64(x) => Some(x as f64),
                    _ => None,
                })
                .collect();
            optional!(name, v, nulls)
        }
    } else if cells.iter().all(|c| matches!(c, Cell::Null)) {
        // A column of `None`s only: its Rust type is not in the values;
        // nullable numbers are measurements, so floats.
        Column::new(name, vec![None::<f64>; cells.len()])
    } else if has(|c| matches!(c, Cell::I64(_))) {
        let v: Vec<Option<i64>> = cells
            .into_iter()
            .map(|c| match c {
                Cell::I64(x) => Ok(Some(x)),
                Cell::U64(x) => Ok(Some(i64::try_from(x)?)),
                _ => Ok(None),
            })
            .collect::<Result<_>>()?;
        optional!(name, v, nulls)
    } else {
        // Unsigned integers (or only nulls).
        let v: Vec<Option<u64>> = cells
            .into_iter()
            .map(|c| match c {
                Cell::U64(x) => Some(x),
                _ => None,
            })
            .collect();
        optional!(name, v, nulls)
    };
    Ok(col)
}

#[derive(Debug)]
struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

fn not_a_row<T>(what: &str) -> Result<T, Error> {
    Err(Error(format!(
        "a row is a struct of scalar fields, not {what}"
    )))
}

/// Accepts one struct and hands each field to `CellSerializer`.
struct RowSerializer<'a> {
    fields: &'a mut Vec<(&'static str, Cell)>,
}

impl<'a> ser::SerializeStruct for RowSerializer<'a> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let cell = value
            .serialize(CellSerializer)
            .map_err(|e| Error(format!("field `{key}`: {e}")))?;
        self.fields.push((key, cell));
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

macro_rules! reject {
    ($($method:ident($($arg:ty),*) -> $ret:ty: $what:literal;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret, Error> {
            not_a_row($what)
        })*
    };
}

impl<'a> ser::Serializer for RowSerializer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        Ok(self)
    }

    reject! {
        serialize_bool(bool) -> (): "a boolean";
        serialize_i8(i8) -> (): "a number";
        serialize_i16(i16) -> (): "a number";
        serialize_i32(i32) -> (): "a number";
        serialize_i64(i64) -> (): "a number";
        serialize_u8(u8) -> (): "a number";
        serialize_u16(u16) -> (): "a number";
        serialize_u32(u32) -> (): "a number";
        serialize_u64(u64) -> (): "a number";
        serialize_f32(f32) -> (): "a number";
        serialize_f64(f64) -> (): "a number";
        serialize_char(char) -> (): "a character";
        serialize_str(&str) -> (): "text";
        serialize_bytes(&[u8]) -> (): "bytes";
        serialize_none() -> (): "an option";
        serialize_unit() -> (): "a unit";
        serialize_unit_struct(&'static str) -> (): "a unit struct";
        serialize_unit_variant(&'static str, u32, &'static str) -> (): "an enum";
        serialize_seq(Option<usize>) -> Self::SerializeSeq: "a sequence";
        serialize_tuple(usize) -> Self::SerializeTuple: "a tuple";
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct: "a tuple struct";
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant: "an enum";
        serialize_map(Option<usize>) -> Self::SerializeMap: "a map";
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant: "an enum";
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Error> {
        not_a_row("an option")
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        not_a_row("an enum")
    }
}

/// One field's value: a scalar, an option of one, or a unit enum variant
/// (its name, as serde spells it).
struct CellSerializer;

impl ser::Serializer for CellSerializer {
    type Ok = Cell;
    type Error = Error;
    type SerializeSeq = Impossible<Cell, Error>;
    type SerializeTuple = Impossible<Cell, Error>;
    type SerializeTupleStruct = Impossible<Cell, Error>;
    type SerializeTupleVariant = Impossible<Cell, Error>;
    type SerializeMap = Impossible<Cell, Error>;
    type SerializeStruct = Impossible<Cell, Error>;
    type SerializeStructVariant = Impossible<Cell, Error>;

    fn serialize_bool(self, v: bool) -> Result<Cell, Error> {
        Ok(Cell::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Cell, Error> {
        Ok(Cell::I64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Cell, Error> {
        Ok(Cell::I64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Cell, Error> {
        Ok(Cell::I64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Cell, Error> {
        Ok(Cell::I64(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Cell, Error> {
        Ok(Cell::U64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Cell, Error> {
        Ok(Cell::U64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Cell, Error> {
        Ok(Cell::U64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Cell, Error> {
        Ok(Cell::U64(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Cell, Error> {
        Ok(Cell::F32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Cell, Error> {
        Ok(Cell::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<Cell, Error> {
        Ok(Cell::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Cell, Error> {
        Ok(Cell::Str(v.to_string()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Cell, Error> {
        not_a_row("bytes")
    }
    fn serialize_none(self) -> Result<Cell, Error> {
        Ok(Cell::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Cell, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Cell, Error> {
        Ok(Cell::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Cell, Error> {
        Ok(Cell::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Cell, Error> {
        Ok(Cell::Str(variant.to_string()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Cell, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Cell, Error> {
        not_a_row("an enum with data")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        not_a_row("a sequence")
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        not_a_row("a tuple")
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        not_a_row("a tuple struct")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        not_a_row("an enum with data")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        not_a_row("a map")
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        not_a_row("a nested struct")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        not_a_row("an enum with data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        epoch: u32,
        loss: &'static str,
        test_l1: f64,
        gain: Option<f64>,
        #[serde(rename = "accuracy %")]
        accuracy: f32,
    }

    #[test]
    fn fields_become_typed_columns_in_order() {
        let rows = [
            Row {
                epoch: 1,
                loss: "mse",
                test_l1: 0.5,
                gain: None,
                accuracy: 0.25,
            },
            Row {
                epoch: 2,
                loss: "l1",
                test_l1: 0.25,
                gain: Some(1.0),
                accuracy: 0.5,
            },
        ];
        let cols = columns(&rows).unwrap();
        let names: Vec<&str> = cols.iter().map(|c| c.name().as_str()).collect();
        assert_eq!(names, ["epoch", "loss", "test_l1", "gain", "accuracy %"]);
        let dtypes: Vec<String> = cols.iter().map(|c| c.dtype().to_string()).collect();
        assert_eq!(dtypes, ["u64", "str", "f64", "f64", "f32"]);
        assert_eq!(cols[3].null_count(), 1);
    }

    #[test]
    fn a_column_of_nones_is_a_float_column() {
        #[derive(Serialize)]
        struct Row {
            published: Option<f64>,
        }
        let cols = columns(&[Row { published: None }, Row { published: None }]).unwrap();
        assert_eq!(cols[0].dtype().to_string(), "f64");
        assert_eq!(cols[0].null_count(), 2);
    }

    #[test]
    fn a_nested_field_is_an_error_naming_it() {
        #[derive(Serialize)]
        struct Bad {
            values: Vec<u32>,
        }
        let e = columns(&[Bad { values: vec![1] }]).unwrap_err();
        assert!(e.to_string().contains("values"), "{e}");
    }
}
