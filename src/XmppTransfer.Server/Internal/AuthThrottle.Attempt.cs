using System.Net;

namespace XmppTransfer.Server.Internal;

internal sealed partial class AuthThrottle
{
    /// <summary>One login attempt admitted by <see cref="TryBeginAttempt"/>, counted as a failure until it is completed.</summary>
    internal sealed class Attempt : IDisposable
    {
        private readonly AuthThrottle _throttle;
        private readonly IPAddress _source;
        private readonly string _account;
        private bool _completed;

        public Attempt(AuthThrottle throttle, IPAddress source, string account)
        {
            _throttle = throttle;
            _source = source;
            _account = account;
        }

        /// <summary>The credentials were wrong (or the exchange failed): a failure; returns how long to wait before answering.</summary>
        public TimeSpan Fail()
        {
            int failures;
            lock (_throttle._lock)
            {
                Complete();
                failures = _throttle._failures.RecordFailure(Keys(_source, _account), _throttle._time.GetTimestamp());
            }

            return _throttle.Delay(failures);
        }

        /// <summary>
        /// The credentials were right: the place is given back, the address's failures for the account are forgiven and the
        /// address becomes known-good for the account.
        /// </summary>
        public void Succeed()
        {
            lock (_throttle._lock)
            {
                Complete();
                var now = _throttle._time.GetTimestamp();
                _throttle._failures.Forgive(_source, _account, now);
                _throttle._knownGood.RecordSuccess(_source, _account, now);
            }
        }

        /// <summary>Gives the place back unless the attempt was completed: the exchange ended before an answer (no guess).</summary>
        public void Dispose()
        {
            lock (_throttle._lock)
            {
                if (!_completed)
                {
                    Complete();
                }
            }
        }

        private void Complete()
        {
            if (_completed)
            {
                throw new InvalidOperationException("The attempt has already been completed.");
            }

            _completed = true;
            _throttle.Release(_source, _account);
        }
    }
}
