//! Where to get the weather for: a place name or `latitude,longitude`.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::json::decimal;

/// A place to get the weather for, as the configuration gives it.
///
/// Parsed from a string: two comma-separated decimal numbers are coordinates
/// (`"48.85,2.35"`, spaces allowed), anything else is a place name (`"Berlin"`,
/// `"São Paulo"`, `"Paris, France"`).
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// A place name, resolved by the provider.
    Name(String),
    /// A point on the globe.
    Coordinates {
        /// Degrees north, -90 to 90.
        latitude: f64,
        /// Degrees east, -180 to 180.
        longitude: f64,
    },
}

impl Location {
    /// A place name; it must not be empty or blank.
    pub fn name(name: &str) -> Result<Location, Error> {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(Error::InvalidLocation {
                input: name.to_owned(),
                reason: "it is empty; give a place name or \"latitude,longitude\"".into(),
            });
        }
        Ok(Location::Name(trimmed.to_owned()))
    }

    /// A point; latitude must be within -90..=90 and longitude within -180..=180.
    pub fn coordinates(latitude: f64, longitude: f64) -> Result<Location, Error> {
        let input = || format!("{latitude},{longitude}");
        if !(-90.0..=90.0).contains(&latitude) {
            return Err(Error::InvalidLocation {
                input: input(),
                reason: format!("latitude {latitude} is outside -90..90"),
            });
        }
        if !(-180.0..=180.0).contains(&longitude) {
            return Err(Error::InvalidLocation {
                input: input(),
                reason: format!("longitude {longitude} is outside -180..180"),
            });
        }
        // `+ 0.0` turns -0.0 into 0.0, so "-0,0" prints as "0,0".
        Ok(Location::Coordinates {
            latitude: latitude + 0.0,
            longitude: longitude + 0.0,
        })
    }

    /// The coordinates, if this is a point.
    pub fn as_coordinates(&self) -> Option<(f64, f64)> {
        match *self {
            Location::Coordinates {
                latitude,
                longitude,
            } => Some((latitude, longitude)),
            Location::Name(_) => None,
        }
    }
}

impl FromStr for Location {
    type Err = Error;

    fn from_str(s: &str) -> Result<Location, Error> {
        if let Some((lat, lon)) = s.split_once(',')
            && let (Some(latitude), Some(longitude)) = (decimal(lat.trim()), decimal(lon.trim()))
        {
            return Location::coordinates(latitude, longitude).map_err(|e| match e {
                Error::InvalidLocation { reason, .. } => Error::InvalidLocation {
                    input: s.to_owned(),
                    reason,
                },
                other => other,
            });
        }
        Location::name(s)
    }
}

impl fmt::Display for Location {
    /// A name as is; coordinates as `latitude,longitude` (what wttr.in takes in its path).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Name(name) => f.write_str(name),
            Location::Coordinates {
                latitude,
                longitude,
            } => write!(f, "{latitude},{longitude}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Location) {
        assert_eq!(input.parse::<Location>().unwrap(), expected, "{input:?}");
    }

    fn name(s: &str) -> Location {
        Location::Name(s.into())
    }

    fn point(latitude: f64, longitude: f64) -> Location {
        Location::Coordinates {
            latitude,
            longitude,
        }
    }

    #[test]
    fn parses_names_and_coordinates() {
        check("Berlin", name("Berlin"));
        check("  São Paulo ", name("São Paulo"));
        check("Paris, France", name("Paris, France"));
        check("10115", name("10115"));
        check("inf,nan", name("inf,nan"));
        check("1e5,2", name("1e5,2"));
        check("48.85,2.35", point(48.85, 2.35));
        check(" 52.52 , 13.41 ", point(52.52, 13.41));
        check("-33.87,+151.21", point(-33.87, 151.21));
        check("-0,0", point(0.0, 0.0));
    }

    #[test]
    fn rejects_blank_and_out_of_range() {
        let err = "  ".parse::<Location>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid location \"  \": it is empty; give a place name or \"latitude,longitude\""
        );
        let err = "95,10".parse::<Location>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid location \"95,10\": latitude 95 is outside -90..90"
        );
        let err = "10,-181.5".parse::<Location>().unwrap_err();
        assert!(
            err.to_string().contains("longitude -181.5 is outside"),
            "{err}"
        );
    }

    #[test]
    fn displays_for_wttr_paths() {
        assert_eq!(point(48.85, 2.35).to_string(), "48.85,2.35");
        assert_eq!(name("Berlin").to_string(), "Berlin");
        assert_eq!(point(1.0, 2.0).as_coordinates(), Some((1.0, 2.0)));
        assert_eq!(name("x").as_coordinates(), None);
    }
}
