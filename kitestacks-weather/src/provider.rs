//! The `WeatherProvider` trait every source of current weather implements.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Error;
use crate::location::Location;
use crate::weather::{Provider, Weather};

/// A source of current weather for one configured location.
///
/// Object-safe: a server holds an `Arc<dyn WeatherProvider>` and does not care which
/// provider, cache or test double is behind it.
#[async_trait]
pub trait WeatherProvider: Send + Sync {
    /// Which service this is.
    fn provider(&self) -> Provider;

    /// The location it reports on.
    fn location(&self) -> &Location;

    /// The current weather, asking the service (or a cache).
    async fn current(&self) -> Result<Weather, Error>;
}

#[async_trait]
impl<P: WeatherProvider + ?Sized> WeatherProvider for Arc<P> {
    fn provider(&self) -> Provider {
        (**self).provider()
    }

    fn location(&self) -> &Location {
        (**self).location()
    }

    async fn current(&self) -> Result<Weather, Error> {
        (**self).current().await
    }
}

#[async_trait]
impl<P: WeatherProvider + ?Sized> WeatherProvider for Box<P> {
    fn provider(&self) -> Provider {
        (**self).provider()
    }

    fn location(&self) -> &Location {
        (**self).location()
    }

    async fn current(&self) -> Result<Weather, Error> {
        (**self).current().await
    }
}
